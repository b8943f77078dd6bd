/** `keypool serve` could not start and has already logged why (one JSON line): exit 2, print nothing more. */
export class StartupFailed extends Error {
  override readonly name = "StartupFailed";
}
