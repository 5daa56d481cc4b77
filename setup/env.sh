# hastack environment: source it (bash or zsh), don't run it.
#
#     source setup/env.sh
#
# Puts the project's toolchain (.venv/bin: python, pulumi, its plugins) first on
# PATH and points Pulumi at project-local state, so nothing reads ~/.pulumi, the
# Pulumi Cloud or the network. It never sets a secrets passphrase: provide
# PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE yourself.
# Everything is derived from this file's location; run bin/setup first.

if [ -n "${BASH_SOURCE:-}" ]; then
    _hastack_env_file=${BASH_SOURCE[0]}
elif [ -n "${ZSH_VERSION:-}" ]; then
    # shellcheck disable=SC2296
    _hastack_env_file=${(%):-%x}
else
    _hastack_env_file=$0
fi
HASTACK_ROOT=$(cd "$(dirname "$_hastack_env_file")/.." 2>/dev/null && pwd -P)
if [ ! -f "$HASTACK_ROOT/setup/env.sh" ]; then
    # A shell that does not tell a sourced file its own path (dash, ksh): try the working directory.
    if [ -f "$PWD/setup/env.sh" ]; then
        HASTACK_ROOT=$(pwd -P)
    else
        echo "setup/env.sh: cannot find the hastack checkout; source it from bash or zsh" >&2
        return 1 2>/dev/null || exit 1
    fi
fi
export HASTACK_ROOT
unset _hastack_env_file

# .venv/bin first on PATH (moved to the front if it was already there).
_hastack_path=
_hastack_rest=$PATH:
while [ -n "$_hastack_rest" ]; do
    _hastack_dir=${_hastack_rest%%:*}
    _hastack_rest=${_hastack_rest#*:}
    if [ -n "$_hastack_dir" ] && [ "$_hastack_dir" != "$HASTACK_ROOT/.venv/bin" ]; then
        _hastack_path=${_hastack_path:+$_hastack_path:}$_hastack_dir
    fi
done
PATH=$HASTACK_ROOT/.venv/bin${_hastack_path:+:$_hastack_path}
export PATH
unset _hastack_path _hastack_rest _hastack_dir

export VIRTUAL_ENV="$HASTACK_ROOT/.venv"
# HASTACK_PULUMI_HOME and HASTACK_PULUMI_BACKEND_URL move both elsewhere (the live tests run
# bin/main on a backend of their own); by default they live in the checkout.
export PULUMI_HOME="${HASTACK_PULUMI_HOME:-$HASTACK_ROOT/.pulumi-home}"
export PULUMI_BACKEND_URL="${HASTACK_PULUMI_BACKEND_URL:-file://$HASTACK_ROOT/.pulumi-state}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Plugins are found on PATH (.venv/bin), so ambient plugins must stay allowed.
unset PULUMI_IGNORE_AMBIENT_PLUGINS
mkdir -p "$PULUMI_HOME"
case $PULUMI_BACKEND_URL in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
