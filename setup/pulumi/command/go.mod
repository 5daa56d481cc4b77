// Wrapper module that builds the pulumi-command provider plugin v1.2.1
// (package provider/cmd/pulumi-resource-command of the pulumi/pulumi-command
// repository). Its module has no provider/v* tags, so it is required by the
// pseudo-version of the v1.2.1 release commit (7f3eb6f3b77c, 2026-03-03).
//
// As of 2026-11 the Go module proxy answers "403 This module version is not
// available" for this module at every version, so setup/build-toolchain.sh
// tries it and, when refused, goes on without the plugin (see setup/README.md).
module hastack.invalid/toolchain/pulumi-command

go 1.25.0

require github.com/pulumi/pulumi-command/provider v0.0.0-20260303235922-7f3eb6f3b77c

tool github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command
