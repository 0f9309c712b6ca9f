# A Chorus node image built FROM scratch: no base image is pulled from any registry. The build
# context is a root file system that bench/container-rootfs.sh assembles from the static release
# binary (swift build -c release --static-swift-stdlib) and the shared libraries `ldd` lists
# for it, nothing else:
#
#   bench/container-rootfs.sh .build/container           # binary + libraries under rootfs/
#   docker build -t chorus:latest -f Dockerfile .build/container
#
# Every setting comes from CHORUS_ variables (CHORUS_NAME, CHORUS_BIND, CHORUS_API, CHORUS_SEED,
# CHORUS_DATA_DIR, ...; see README.md), so one image serves every node; compose.yaml runs three.
FROM scratch
COPY rootfs/ /
ENV CHORUS_DATA_DIR=/data \
    CHORUS_BIND=0.0.0.0:7946 \
    CHORUS_API=0.0.0.0:7947 \
    TMPDIR=/tmp
VOLUME ["/data"]
EXPOSE 7946/udp 7946/tcp 7947/tcp
# `chorus health` asks GET /health at $CHORUS_API: the image holds no other HTTP client.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["/usr/bin/chorus", "health"]
# SIGTERM (docker stop) makes the agent leave the cluster gracefully before it exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/chorus"]
CMD ["agent"]
