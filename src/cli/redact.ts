// The command line's redaction is the agent's (src/agent/redact.ts): one function for every message and log line.
export { redactSecrets, redactUrl } from '../agent/redact.ts';
