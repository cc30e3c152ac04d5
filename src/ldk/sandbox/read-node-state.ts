// Deserialising a node's saved state (LDK's restart steps 1 and 2): channel monitors first, then the channel
// manager, which is handed the monitors so it can close any channel whose monitor is newer than itself.
import * as ldk from 'lightningdevkit';

export interface ManagerDependencies {
  keys: ldk.KeysManager;
  feeEstimator: ldk.FeeEstimator;
  chainMonitor: ldk.ChainMonitor;
  broadcaster: ldk.BroadcasterInterface;
  router: ldk.DefaultRouter;
  messageRouter: ldk.DefaultMessageRouter;
  logger: ldk.Logger;
  config: ldk.UserConfig;
}

export function readMonitor(bytes: Uint8Array, keys: ldk.KeysManager): ldk.ChannelMonitor {
  const read = ldk.UtilMethods.constructor_C2Tuple_ThirtyTwoBytesChannelMonitorZ_read(
    bytes,
    keys.as_EntropySource(),
    keys.as_SignerProvider(),
  );
  if (!(read instanceof ldk.Result_C2Tuple_ThirtyTwoBytesChannelMonitorZDecodeErrorZ_OK)) {
    throw new Error(`a saved channel monitor cannot be read (${describeDecodeError(read)})`);
  }
  return read.res.get_b();
}

export function readManager(
  bytes: Uint8Array,
  dependencies: ManagerDependencies,
  monitors: ldk.ChannelMonitor[],
): ldk.ChannelManager {
  const { keys } = dependencies;
  const read = ldk.UtilMethods.constructor_C2Tuple_ThirtyTwoBytesChannelManagerZ_read(
    bytes,
    keys.as_EntropySource(),
    keys.as_NodeSigner(),
    keys.as_SignerProvider(),
    dependencies.feeEstimator,
    dependencies.chainMonitor.as_Watch(),
    dependencies.broadcaster,
    dependencies.router.as_Router(),
    dependencies.messageRouter.as_MessageRouter(),
    dependencies.logger,
    dependencies.config,
    monitors,
  );
  if (!(read instanceof ldk.Result_C2Tuple_ThirtyTwoBytesChannelManagerZDecodeErrorZ_OK)) {
    throw new Error(`the saved channel manager cannot be read (${describeDecodeError(read)})`);
  }
  return read.res.get_b();
}

function describeDecodeError(result: object): string {
  const error = (result as { err?: object }).err;
  return error ? error.constructor.name.replace('DecodeError_', '') : 'unknown error';
}
