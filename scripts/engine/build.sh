#!/usr/bin/env bash
# Builds the real Pulumi engine this project pins, from the Go module proxy, into the machine's cache
# (ENGINE_DIR, default ~/.cache/bootloop-rescue/engine, shared by every clone on the machine),
# one folder per version, so a second run costs seconds:
#   pulumi-v<V>/pulumi                       the CLI, github.com/pulumi/pulumi/pkg/v3@v<V>,
#                                             V = the version of @pulumi/pulumi in package.json
#   pulumi-v<V>/pulumi-language-nodejs       the Node.js language host, beside the CLI
#   command-v<C>/pulumi-resource-command     the command provider, C = @pulumi/command's version
# It prints the folder holding `pulumi` and exits 0 only when all three are there at those versions;
# a part that cannot be had is named with the reason and the exit is 1 (never a partial engine
# reported as ready). A `pulumi` already on PATH is used only at exactly version V.
#
# Usage: npm run engine:build [-- --cli] [-- --help]
#   --cli       the CLI alone (what `npm run sandbox` needs: it hosts the program itself and serves
#               stand-ins for the providers); prints its folder
#   ENGINE_DIR  where the versioned folders go (default: ${XDG_CACHE_HOME:-~/.cache}/bootloop-rescue/engine)
set -euo pipefail
USAGE="usage: npm run engine:build [-- --cli] [-- --help]   (ENGINE_DIR=FOLDER to build elsewhere than ~/.cache/bootloop-rescue/engine)"
CLI_ONLY=
for arg in "$@"; do
    case $arg in
        --help | -h) echo "$USAGE"; exit 0 ;;
        --cli) CLI_ONLY=1 ;;
        *) printf 'npm run engine:build: unknown argument "%s"\n%s\n' "$arg" "$USAGE" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/../.."
PROJECT=$PWD
ENGINE_DIR=${ENGINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bootloop-rescue/engine}
say() { printf 'engine: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

pinned() { node -e 'const p=require(process.argv[1]); const v=p.dependencies[process.argv[2]]; if(!/^\d+\.\d+\.\d+$/.test(v||"")) process.exit(1); console.log(v)' "$PROJECT/package.json" "$1" ||
    fail "package.json pins no exact version of $1"; }
command -v node >/dev/null || fail "node is not on PATH: install Node.js 20 (it reads the pinned versions from package.json)"
PULUMI_VERSION=v$(pinned @pulumi/pulumi)
COMMAND_VERSION=v$(pinned @pulumi/command)
CLI_DIR=$ENGINE_DIR/pulumi-$PULUMI_VERSION
COMMAND_DIR=$ENGINE_DIR/command-$COMMAND_VERSION

# A binary's version as it reports it, or nothing.
version_of() { "$1" version 2>/dev/null | head -n1 | tr -d '[:space:]' || true; }

# The CLI: one on PATH at exactly the pinned version, else ours (built once per version).
use_path_cli() {
    local found
    found=$(command -v pulumi 2>/dev/null) || return 1
    [[ "$(readlink -f "$found")" == "$(readlink -f "$CLI_DIR/pulumi" 2>/dev/null)" ]] && return 1
    local v
    v=$(version_of "$found")
    if [[ "$v" == "$PULUMI_VERSION" ]]; then
        mkdir -p "$CLI_DIR"
        ln -sfn "$found" "$CLI_DIR/pulumi"
        say "using pulumi $v from PATH ($found)"
        return 0
    fi
    say "not using pulumi ${v:-of unknown version} at $found: the engine must be $PULUMI_VERSION, the version of @pulumi/pulumi this project pins"
    return 1
}

need_go() {
    command -v go >/dev/null || fail "Go is not on PATH, and the engine is built from Go modules: install Go 1.25 or later (Debian: apt-get install golang-go from a release that has 1.25; else the go.dev/dl archive), then run this again"
    local v
    v=$(go env GOVERSION)
    [[ "$(printf '%s\n' go1.25 "$v" | sort -V | head -n1)" == go1.25 ]] || fail "Go $v is too old to build pulumi $PULUMI_VERSION (its go.mod needs go 1.25): install Go 1.25 or later"
}

# Builds the CLI from a wrapper module: pkg/v3 carries local `replace` lines, so `go install …@v`
# refuses it; the wrapper requires pkg/v3 and sdk/v3 at the SAME version (pkg's tagged go.mod asks
# for an older sdk) and copies pkg's non-local replaces.
build_cli() {
    need_go
    local src=$CLI_DIR/src
    rm -rf "$src" && mkdir -p "$src"
    local pkgmod
    pkgmod=$(cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=mod" go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s); if(j.Error){console.error(j.Error);process.exit(1)} console.log(j.GoMod)})') ||
        fail "the Go module proxy did not serve github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION"
    {
        printf 'module bootloop-rescue/engine\n\ngo %s\n\n' "$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$pkgmod")"
        printf 'require (\n\tgithub.com/pulumi/pulumi/pkg/v3 %s\n\tgithub.com/pulumi/pulumi/sdk/v3 %s\n)\n\n' "$PULUMI_VERSION" "$PULUMI_VERSION"
        grep -E '^replace [^ ]+ => [^.]' "$pkgmod" || true
    } >"$src/go.mod"
    printf '//go:build tools\n\npackage engine\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$src/tools.go"
    say "building pulumi $PULUMI_VERSION (a cold build takes tens of minutes on 2 cores; later builds use Go's caches)"
    (cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=mod" go mod tidy >&2 &&
        go build -trimpath -o "$CLI_DIR/pulumi.new" \
            -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
            github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2) || fail "building pulumi $PULUMI_VERSION failed (above)"
    mv "$CLI_DIR/pulumi.new" "$CLI_DIR/pulumi"
}

# The pseudo-version of a module that has no tags of its own (the language host, the command
# provider), at the commit of a release tag the proxy does serve: `v<MAJOR>.0.0-<time>-<commit>`,
# from that tag's .info (its Origin names the commit).
pseudo_version() { # TAGGED_MODULE VERSION MAJOR
    local dir
    dir=$(mktemp -d) && printf 'module probe\n' >"$dir/go.mod"
    (cd "$dir" && go mod download -json "$1@$2" 2>/dev/null) | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s); if(j.Error||!j.Info) process.exit(1); const i=JSON.parse(require("fs").readFileSync(j.Info,"utf8")); const h=i.Origin&&i.Origin.Hash; if(!h) process.exit(1); console.log(`v${process.argv[1]}.0.0-${i.Time.replace(/[-:TZ]/g,"").slice(0,14)}-${h.slice(0,12)}`)})' "$3"
    local rc=$?
    rm -rf "$dir"
    return $rc
}

build_module_binary() { # NAME MODULE PACKAGE VERSION OUT LDFLAGS
    local name=$1 module=$2 package=$3 version=$4 out=$5 ldflags=$6
    need_go
    local src
    src=$(dirname "$out")/src-$name
    rm -rf "$src" && mkdir -p "$src"
    printf 'module bootloop-rescue/%s\n\ngo 1.25\n' "$name" >"$src/go.mod"
    local answer
    if ! answer=$(cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=mod" go mod download -json "$module@$version" 2>&1); then
        local why
        why=$(printf '%s' "$answer" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let m;try{m=JSON.parse(s).Error}catch{m=s} console.log(String(m).split("\n").map(l=>l.trim()).filter(Boolean).pop())})')
        say "$name: the Go module proxy does not serve $module@$version ($why)"
        return 1
    fi
    (cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=mod" go get "$module@$version" >&2 && go build -trimpath -o "$out" -ldflags "$ldflags" "$package" >&2) || { say "$name: building $package@$version failed (above)"; return 1; }
}

mkdir -p "$ENGINE_DIR"
# One build at a time per cache (every clone on the machine shares it): a second waits for the first.
exec 9>"$ENGINE_DIR/.lock"
flock 9
if [[ "$(version_of "$CLI_DIR/pulumi")" != "$PULUMI_VERSION" ]]; then
    use_path_cli || build_cli
fi
[[ "$(version_of "$CLI_DIR/pulumi")" == "$PULUMI_VERSION" ]] || fail "$CLI_DIR/pulumi does not report $PULUMI_VERSION"
say "pulumi $PULUMI_VERSION: $CLI_DIR/pulumi"
if [[ -n $CLI_ONLY ]]; then
    echo "$CLI_DIR"
    exit 0
fi

missing=()
if [[ ! -x "$CLI_DIR/pulumi-language-nodejs" ]]; then
    host=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
    if need_go && pseudo=$(pseudo_version github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION" 3); then
        build_module_binary pulumi-language-nodejs "$host" "$host" "$pseudo" "$CLI_DIR/pulumi-language-nodejs" \
            "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" || missing+=("pulumi-language-nodejs $PULUMI_VERSION")
    else
        say "pulumi-language-nodejs: the proxy names no commit for pkg/v3@$PULUMI_VERSION to build the language host from"
        missing+=("pulumi-language-nodejs $PULUMI_VERSION")
    fi
fi
if [[ ! -x "$COMMAND_DIR/pulumi-resource-command" ]]; then
    mkdir -p "$COMMAND_DIR"
    if pseudo=$(pseudo_version github.com/pulumi/pulumi-command "$COMMAND_VERSION" 0); then
        build_module_binary pulumi-resource-command github.com/pulumi/pulumi-command/provider github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command \
            "$pseudo" "$COMMAND_DIR/pulumi-resource-command" "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_VERSION" ||
            missing+=("pulumi-resource-command $COMMAND_VERSION")
    else
        say "pulumi-resource-command: the proxy names no commit for github.com/pulumi/pulumi-command@$COMMAND_VERSION to build the provider from"
        missing+=("pulumi-resource-command $COMMAND_VERSION")
    fi
fi
if ((${#missing[@]})); then
    fail "not ready: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g') cannot be built here; the CLI alone cannot run this TypeScript program"
fi
say "ready: $CLI_DIR (language host beside it), command provider in $COMMAND_DIR"
echo "$CLI_DIR"
