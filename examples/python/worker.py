"""A keypool worker in Python: acquire a key, renew its lease, keep it alive, release it.

Stubs come from proto/ (see docs/other-languages.md):
    npx buf generate --template examples/python/buf.gen.yaml
    PYTHONPATH=examples/python/gen python3 examples/python/worker.py localhost:50051
Prints one JSON line per step; keys are shortened, as keypool's own tools do.
"""

import json
import sys

import grpc
from google.protobuf.duration_pb2 import Duration

from keypool.v1 import keypool_pb2 as pb
from keypool.v1 import keypool_pb2_grpc as rpc


def short(key: str) -> str:
    """A key as logs may show it: never whole (keys are secrets)."""
    return key[:7] + "…"


def step(name: str, info: pb.KeyInfo) -> None:
    print(json.dumps({
        "step": name,
        "key": short(info.key),
        "state": pb.KeyState.Name(info.state),
        "blocked_until": info.blocked_until.ToJsonString() if info.HasField("blocked_until") else None,
        "expires_at": info.expires_at.ToJsonString(),
    }), flush=True)


def main(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        keys = rpc.KeyServiceStub(channel)
        try:
            # Wait up to 10 s for a free key; never retried (a retry could block a second key).
            got = keys.AcquireKey(pb.AcquireKeyRequest(wait=Duration(seconds=10)), timeout=15).key
        except grpc.RpcError as err:
            print(json.dumps({"step": "acquire", "code": err.code().name, "details": err.details()}), flush=True)
            return 3 if err.code() == grpc.StatusCode.NOT_FOUND else 1
        step("acquired", got)
        lease = got.lease_id
        # ... work with got.key; before the block ends, extend it under the same lease:
        step("renewed", keys.RenewLease(pb.RenewLeaseRequest(key=got.key, lease_id=lease), timeout=5).key)
        step("kept alive", keys.KeepAliveKey(pb.KeepAliveKeyRequest(key=got.key), timeout=5).key)
        # Release under the lease: if it had run out and someone else holds the key now,
        # this is FAILED_PRECONDITION and their lease is untouched.
        step("released", keys.ReleaseKey(pb.ReleaseKeyRequest(key=got.key, lease_id=lease), timeout=5).key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "localhost:50051"))
