# ADE key: the BitLocker key file (BEK) Azure Disk Encryption keeps for an OS disk, read from its
# Key Vault secret and, when a key-encryption key (KEK) wraps it, unwrapped by Key Vault with that
# key (the KEK's private part never leaves the vault). Prints the BEK, base64, on stdout. Read-only.
# The program runs it as its own child process (never through the Pulumi engine) and keeps what it
# prints as a secret; nothing secret is ever an argument, on stderr or in a file that outlives it.
need SECRET_URL VM_LABEL
# A Key Vault object URL with its version: https://<vault>.vault.<cloud suffix>/<kind>/<name>/<version>.
vault_url() { printf '^https://[A-Za-z0-9-]{3,24}\\.vault\\.(azure\\.net|azure\\.cn|usgovcloudapi\\.net|microsoftazure\\.de)(:443)?/%s/[A-Za-z0-9-]{1,127}/[0-9A-Fa-f]{32}$' "$1"; }
expect SECRET_URL "$(vault_url secrets)"
KEK_URL=${KEK_URL:-}
[[ -z $KEK_URL ]] || expect KEK_URL "$(vault_url keys)"

# vault_of URL: the vault's name. resource_of URL: the audience of its tokens (https://vault.azure.net).
vault_of() { local host=${1#https://}; printf '%s' "${host%%.*}"; }
resource_of() { local host=${1#https://}; host=${host%%/*}; host=${host%:443}; printf 'https://vault.%s' "${host#*.vault.}"; }
# Key Vault limits requests per vault: the watcher's rate limits are kept per vault.
in_vault() { WATCH_SCOPE=$'\t'"vault=$(vault_of "$1")"; }
denied() { fail "$VM_LABEL: key vault $(vault_of "$1") did not let the deployer $2 (the error above); the deployer needs $3 on that vault (Azure RBAC), or the access policy permission $4"; }

in_vault "$SECRET_URL"
secret=$(cloud_call "keyvault secret get" az rest --method get --url "$SECRET_URL?api-version=7.4" --resource "$(resource_of "$SECRET_URL")" --output json --only-show-errors) ||
    denied "$SECRET_URL" "read the BEK secret of its OS disk ($SECRET_URL)" "Microsoft.KeyVault/vaults/secrets/getSecret/action (role Key Vault Secrets User)" "secrets: get"

# ADE marks a BEK wrapped by a KEK with the content type "Wrapped BEK" and names the algorithm in a tag.
algorithm=$(jq_node 'o && typeof o.value === "string" ? (o.contentType === "Wrapped BEK" ? ((o.tags || {}).DiskEncryptionKeyEncryptionAlgorithm || "RSA-OAEP") : "none") : "missing"' <<<"$secret")
case $algorithm in
    none) bek=$secret encoding=base64 ;;
    missing) fail "$VM_LABEL: the Key Vault secret $SECRET_URL holds no value" ;;
    RSA-OAEP | RSA-OAEP-256 | RSA1_5)
        [[ -n $KEK_URL ]] || fail "$VM_LABEL: the BEK in $SECRET_URL is wrapped, but the disk's encryption settings name no key-encryption key to unwrap it"
        # The request body (the wrapped BEK and the algorithm) goes in a file only this user can read.
        body_dir=$(mktemp -d)
        trap 'rm -rf "$body_dir"; gate_report; rm -f "$errfile" "$gate_file"' EXIT
        ALGORITHM=$algorithm jq_node 'JSON.stringify({ alg: process.env.ALGORITHM, value: Buffer.from(o.value, "base64").toString("base64url") })' <<<"$secret" >"$body_dir/body.json"
        in_vault "$KEK_URL"
        bek=$(cloud_call "keyvault key unwrap" az rest --method post --url "$KEK_URL/unwrapkey?api-version=7.4" --resource "$(resource_of "$KEK_URL")" \
            --headers Content-Type=application/json --body "@$body_dir/body.json" --output json --only-show-errors) ||
            denied "$KEK_URL" "unwrap the BEK of its OS disk with the key-encryption key $KEK_URL" "Microsoft.KeyVault/vaults/keys/unwrap/action (role Key Vault Crypto User)" "keys: unwrapKey"
        rm -rf "$body_dir"
        encoding=base64url
        ;;
    *) fail "$VM_LABEL: the BEK in $SECRET_URL is wrapped with an algorithm this version does not unwrap" ;;
esac

# The BEK itself, base64; a BitLocker key file is a few hundred bytes.
out=$(ENCODING=$encoding jq_node '(() => { const b = Buffer.from(String(o.value), process.env.ENCODING); return b.length >= 64 && b.length <= 4096 ? b.toString("base64") : ""; })()' <<<"$bek")
[[ -n $out ]] || fail "$VM_LABEL: what key vault $(vault_of "$SECRET_URL") holds in $SECRET_URL is not a BitLocker key file"
printf '%s\n' "$out"
