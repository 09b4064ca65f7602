"""The Python peer's build step, what peer.toml's [build] runs (`make peers`): `python3 build_peer.py`.

1. build_codec.py: build/cw_plans.py, the codec plans generated from protocols/schema.toml;
2. build_shm.py: the shared-memory helper (cffi), build/_cwshm*.so and build/_cwshm.stamp.
"""
import build_codec
import build_shm

if __name__ == "__main__":
    build_codec.main()
    build_shm.main()
