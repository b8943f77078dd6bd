/** One flag of `keypool serve`: its environment twin, default and help line. */
export interface FlagSpec {
  readonly env: string;
  readonly default: string;
  readonly help: string;
  readonly boolean?: true;
}

/** Every flag of `keypool serve`; the help text and README table are made from this. */
export const SERVE_FLAGS = {
  host: { env: "KEYPOOL_HOST", default: "0.0.0.0", help: "address to listen on" },
  port: { env: "KEYPOOL_PORT", default: "50051", help: "port to listen on (0 picks a free one)" },
  "block-ttl": { env: "KEYPOOL_BLOCK_TTL", default: "60s", help: "how long an acquired key stays blocked" },
  "keepalive-ttl": { env: "KEYPOOL_KEEPALIVE_TTL", default: "5m", help: "how long a key lives without a keepalive" },
  "max-lease": { env: "KEYPOOL_MAX_LEASE", default: "24h", help: "longest a lease may be renewed for, from its AcquireKey" },
  "max-keys": { env: "KEYPOOL_MAX_KEYS", default: "1000000", help: "each pool's capacity" },
  "max-pools": { env: "KEYPOOL_MAX_POOLS", default: "1000", help: "most pools this server holds (GenerateKeys or ImportKeys into one more: RESOURCE_EXHAUSTED)" },
  "max-cooldown": { env: "KEYPOOL_MAX_COOLDOWN", default: "1h", help: "longest cooldown a ReleaseKey may ask for" },
  store: { env: "KEYPOOL_STORE", default: "memory", help: "memory (embedded; durable with --data-dir) or redis" },
  "redis-url": { env: "KEYPOOL_REDIS_URL", default: "redis://127.0.0.1:6379/0", help: "Redis to share a pool through" },
  pool: { env: "KEYPOOL_POOL", default: "default", help: "the default pool's name: requests with an empty pool use it (every store)" },
  "redis-update-settings": { env: "KEYPOOL_REDIS_UPDATE_SETTINGS", default: "false", help: "make this server's --block-ttl, --keepalive-ttl, --max-keys, --max-lease and --max-cooldown the settings of the Redis pools it opens (once, to change them)", boolean: true },
  "redis-cluster": { env: "KEYPOOL_REDIS_CLUSTER", default: "", help: "Redis Cluster nodes host:port,... (instead of --redis-url)" },
  "pool-shards": { env: "KEYPOOL_POOL_SHARDS", default: "1", help: "split the Redis pool into this many shards (one per cluster master)" },
  "redis-sentinels": { env: "KEYPOOL_REDIS_SENTINELS", default: "", help: "Sentinel nodes host:port,... that name the primary (instead of --redis-url)" },
  "redis-master-name": { env: "KEYPOOL_REDIS_MASTER_NAME", default: "", help: "the primary's name at the sentinels" },
  "redis-wait-replicas": { env: "KEYPOOL_REDIS_WAIT_REPLICAS", default: "0", help: "acknowledge a write only once this many replicas have it" },
  "redis-wait-timeout": { env: "KEYPOOL_REDIS_WAIT_TIMEOUT", default: "1s", help: "longest wait for those replicas; then UNAVAILABLE" },
  "data-dir": { env: "KEYPOOL_DATA_DIR", default: "", help: "keep the embedded pool on disk in this folder" },
  "log-level": { env: "KEYPOOL_LOG_LEVEL", default: "info", help: "fatal, error, warn, info, debug, trace or silent" },
  "auth-file": { env: "KEYPOOL_AUTH_FILE", default: "", help: "bearer token hashes and roles (JSON); reloaded on SIGHUP" },
  "allow-insecure-remote": { env: "KEYPOOL_ALLOW_INSECURE_REMOTE", default: "false", help: "without --auth-file, serve non-loopback clients too", boolean: true },
  reflection: { env: "KEYPOOL_REFLECTION", default: "open", help: "server reflection: open, authenticated (any valid token) or off" },
  "tls-cert": { env: "KEYPOOL_TLS_CERT", default: "", help: "PEM certificate chain: serve TLS" },
  "tls-key": { env: "KEYPOOL_TLS_KEY", default: "", help: "PEM private key of --tls-cert" },
  "tls-client-ca": { env: "KEYPOOL_TLS_CLIENT_CA", default: "", help: "PEM CA: require client certificates it signed (mTLS)" },
  "metrics-port": { env: "KEYPOOL_METRICS_PORT", default: "", help: "serve /metrics, /healthz and /readyz over HTTP on this port (off when unset)" },
  "metrics-host": { env: "KEYPOOL_METRICS_HOST", default: "", help: "address for the metrics port (unset: the --host address)" },
  "max-request-bytes": { env: "KEYPOOL_MAX_REQUEST_BYTES", default: "65536", help: "largest request message" },
  "max-metadata-bytes": { env: "KEYPOOL_MAX_METADATA_BYTES", default: "16384", help: "largest request metadata" },
  "max-generate": { env: "KEYPOOL_MAX_GENERATE", default: "1000", help: "most keys per GenerateKeys (at most 1000)" },
  "max-keepalive-keys": { env: "KEYPOOL_MAX_KEEPALIVE_KEYS", default: "1000", help: "most keys per KeepAlive message (at most 1000)" },
  "max-streams": { env: "KEYPOOL_MAX_STREAMS", default: "10000", help: "most open KeepAlive streams" },
  "max-waiters": { env: "KEYPOOL_MAX_WAITERS", default: "10000", help: "most AcquireKey calls waiting at once" },
  "max-health-watches": { env: "KEYPOOL_MAX_HEALTH_WATCHES", default: "1000", help: "most open health Watch streams (health needs no token)" },
  "max-calls-per-connection": { env: "KEYPOOL_MAX_CALLS_PER_CONNECTION", default: "2000", help: "most concurrent calls per HTTP/2 connection" },
  "max-connections": { env: "KEYPOOL_MAX_CONNECTIONS", default: "2000", help: "most open client connections; more are closed at once" },
  "max-connections-per-peer": { env: "KEYPOOL_MAX_CONNECTIONS_PER_PEER", default: "200", help: "most open connections from one IP address" },
  "max-resets": { env: "KEYPOOL_MAX_RESETS", default: "200", help: "calls one IP address may end (cancelled, or refused by the server) before their request arrived, per 10 s; past it: disconnected, refused 10 s" },
  "http2-ping-interval": { env: "KEYPOOL_HTTP2_PING_INTERVAL", default: "60s", help: "ping idle connections this often" },
  "http2-ping-timeout": { env: "KEYPOOL_HTTP2_PING_TIMEOUT", default: "20s", help: "drop connections whose ping is not answered in this" },
  "http2-min-client-ping-interval": { env: "KEYPOOL_HTTP2_MIN_CLIENT_PING_INTERVAL", default: "10s", help: "GOAWAY clients that ping more often" },
} as const satisfies Record<string, FlagSpec>;

/** A flag name. */
export type Flag = keyof typeof SERVE_FLAGS;
