#!/usr/bin/env bash
# Build the Pulumi toolchain from Go modules into OUTDIR (called by bin/setup on a
# cache miss; can be run by hand: setup/build-toolchain.sh /some/dir).
#
# OUTDIR gets:
#   pulumi                          CLI, module github.com/pulumi/pulumi/pkg/v3 (setup/pulumi/cli/go.mod)
#   pulumi-language-python          hastack's Python language host (setup/pulumi/cli/cmd/...)
#   pulumi-language-python-exec     }
#   pulumi-resource-pulumi-python   } hastack's launcher scripts (setup/pulumi/launchers/)
#   pulumi-resource-command         pulumi-command provider, only when the module proxy serves it
#   BUILD-INFO                      what was built, from which versions, with which Go
#
# Everything comes through the Go module proxy (go's default GOPROXY) and is
# verified against the committed go.sum; nothing is downloaded from anywhere else.
set -euo pipefail

out=${1:?usage: build-toolchain.sh OUTDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=setup/toolchain.env
. "$here/toolchain.env"
mkdir -p "$out"
out=$(cd "$out" && pwd -P)

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
version_pkg=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
ts() { date -u +%H:%M:%S; }

cd "$here/pulumi/cli"
echo "[$(ts)] downloading Go modules for pulumi $PULUMI_VERSION..."
go mod download

echo "[$(ts)] building pulumi CLI $PULUMI_VERSION (first run only, ~5 min on 2 cores)..."
go build -trimpath -ldflags "-s -w -X $version_pkg=$PULUMI_VERSION" \
    -o "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

echo "[$(ts)] building pulumi-language-python $PULUMI_LANGUAGE_PYTHON_VERSION (hastack's own host)..."
go build -trimpath -ldflags "-s -w -X $version_pkg=$PULUMI_LANGUAGE_PYTHON_VERSION" \
    -o "$out/pulumi-language-python" ./cmd/pulumi-language-python

install -m 0755 "$here/pulumi/launchers/pulumi-language-python-exec" \
    "$here/pulumi/launchers/pulumi-resource-pulumi-python" "$out/"

# pulumi-command: built in a scratch copy of its wrapper module, because its
# go.sum can only be written once the proxy serves the module.
command_status="not built"
echo "[$(ts)] building pulumi-resource-command $PULUMI_COMMAND_VERSION..."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$here/pulumi/command/go.mod" "$scratch/"
[ -f "$here/pulumi/command/go.sum" ] && cp "$here/pulumi/command/go.sum" "$scratch/"
if (cd "$scratch" && GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath \
        -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$PULUMI_COMMAND_VERSION" \
        -o "$out/pulumi-resource-command" github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command) \
        >"$scratch/log" 2>&1; then
    command_status="built $PULUMI_COMMAND_VERSION from github.com/pulumi/pulumi-command/provider@$PULUMI_COMMAND_MODULE_VERSION"
else
    reason=$(grep -m1 -E 'not available|not found|error|cannot' "$scratch/log" || tail -n1 "$scratch/log")
    command_status="UNAVAILABLE (Go module proxy: github.com/pulumi/pulumi-command/provider@$PULUMI_COMMAND_MODULE_VERSION: $(echo $reason))"
    echo "[$(ts)] WARNING: pulumi-resource-command not built: the Go module proxy does not serve" >&2
    echo "    github.com/pulumi/pulumi-command/provider@$PULUMI_COMMAND_MODULE_VERSION:" >&2
    sed 's/^/    /' "$scratch/log" | tail -n 3 >&2
    echo "    Programs using pulumi_command resources will fail to load the 'command' plugin." >&2
fi

{
    echo "pulumi $PULUMI_VERSION (github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION)"
    echo "pulumi-language-python $PULUMI_LANGUAGE_PYTHON_VERSION (hastack, sdk/v3@$PULUMI_VERSION)"
    echo "pulumi-resource-command: $command_status"
    echo "go: $(go version)"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$out/BUILD-INFO"
echo "[$(ts)] toolchain built in $out"
