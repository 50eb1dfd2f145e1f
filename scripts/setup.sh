#!/usr/bin/env bash
# One-time set-up on a fresh machine: system packages for WebGPU without a GPU, then npm ci.
#  - libvulkan1: the Vulkan loader Dawn (the `webgpu` package) opens.
#  - chromium: the browser test host, and its SwiftShader Vulkan driver is the CPU fallback
#    adapter when the machine has no GPU (docs/DESIGN.md §5).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' || need+=(libvulkan1)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (apt-get)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# onnxruntime-node (dev: ONNX export tests, bench baseline) ships its CPU binaries; skip its postinstall's CUDA download
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
