# Store key (npm run import-keys): puts a VM's BitLocker recovery passwords into a Secrets Manager
# secret of its own, in the VM's account and region: a new secret, or a new version of the one an
# earlier import made. The keys are read from KEY_FILE (root-only, the importer's), never passed as
# an argument; prints the secret's full ARN, which the rescue instance's role will be allowed to read.
# TAGS_JSON: the new secret's tags as the CLI's JSON list (the stack's own and the user's).
need SECRET_NAME KEY_FILE STACK_NAME VM_LABEL TAGS_JSON
expect SECRET_NAME '^bootloop-rescue/[A-Za-z0-9_.-]{1,100}/[a-z0-9-]{1,40}$'
expect KEY_FILE '^/[A-Za-z0-9/_.-]+$' 4000
expect STACK_NAME '^[A-Za-z0-9_.-]{1,100}$'
expect TAGS_JSON '^\[\{"Key":.*\}\]$' 20000
[[ -f $KEY_FILE && ! -L $KEY_FILE ]] || fail "internal: KEY_FILE is not a file"

listed=$(aws_json secretsmanager list-secrets --filters "Key=name,Values=$SECRET_NAME") || fail "$VM_LABEL: Secrets Manager did not list secrets named $SECRET_NAME"
arn=$(NAME=$SECRET_NAME jq_node '((o.SecretList || []).find((s) => s.Name === process.env.NAME) || {}).ARN || ""' <<<"$listed")
if [[ -n $arn ]]; then
    log "$VM_LABEL: adding the keys as a new version of $arn"
    out=$(aws_json secretsmanager put-secret-value --secret-id "$arn" --secret-string "file://$KEY_FILE") || fail "$VM_LABEL: Secrets Manager refused the new version of $arn"
else
    log "$VM_LABEL: storing the keys in a new secret $SECRET_NAME"
    out=$(aws_json secretsmanager create-secret --name "$SECRET_NAME" --secret-string "file://$KEY_FILE" \
        --description "bootloop-rescue: BitLocker recovery passwords of $VM_LABEL (stack $STACK_NAME)" \
        --tags "$TAGS_JSON") ||
        fail "$VM_LABEL: Secrets Manager refused to create $SECRET_NAME"
fi
arn=$(jq_node 'o.ARN || ""' <<<"$out")
[[ $arn =~ ^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$ ]] || fail "$VM_LABEL: Secrets Manager returned no secret ARN"
printf '%s\n' "$arn"
