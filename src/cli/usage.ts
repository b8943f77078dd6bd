import { SERVE_FLAGS } from "./serve-flags.js";

/** The help text of `keypool serve`, generated from the flag table so it never drifts. */
export function serveUsage(): string {
  const rows = Object.entries(SERVE_FLAGS).map(
    ([flag, f]) => `  --${flag.padEnd(15)} ${f.help} (env ${f.env}, default ${f.default || "unset"})`,
  );
  return ["Usage: keypool serve [flags]", "", "Serves keypool.v1.KeyService over gRPC.", "", "Flags:", ...rows, ""].join("\n");
}
