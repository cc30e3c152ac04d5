/**
 * A problem a command found that the person running it must fix (a port already taken, a missing argument): the
 * command line prints the message alone, without a stack trace, and exits 2. The message says what to change.
 */
export class CliError extends Error {
  override name = 'CliError';
}
