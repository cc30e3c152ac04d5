// STAND-IN LND (test double, not LND): the error the stand-in throws where LND would refuse a call
// (the invoice registry, the router, the macaroon check); standin-grpc-server.ts answers it with its gRPC
// status code and message.

/** An error LND would return, with its gRPC status code (2, UNKNOWN, for LND's plain errors). */
export class LndRpcError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}
