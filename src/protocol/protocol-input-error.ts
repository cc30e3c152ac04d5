// A builder was given something the protocol does not allow (a client's mistake, not the agent's): the message
// says which field and why, in the words the agent would use to refuse the event.
export class ProtocolInputError extends Error {
  override name = 'ProtocolInputError';
}
