# Store key (npm run import-keys): puts a VM's BitLocker recovery passwords into a Secret Manager
# secret of its own, in the VM's project: a new secret, or a new version of the one an earlier
# import made. The keys are read from KEY_FILE (root-only, the importer's), never passed as an
# argument; prints the secret's name, which the rescue service account will be allowed to read.
need PROJECT SECRET_ID KEY_FILE STACK_LABEL VM_LABEL
expect PROJECT "$PATTERN_PROJECT"
expect SECRET_ID '^bootloop-rescue-[a-z0-9_-]{1,200}$'
expect KEY_FILE '^/[A-Za-z0-9/_.-]+$' 4000
expect STACK_LABEL '^[a-z0-9_-]{1,63}$'
[[ -f $KEY_FILE && ! -L $KEY_FILE ]] || fail "internal: KEY_FILE is not a file"

listed=$(cloud_call "secrets list" gcloud secrets list --project "$PROJECT" --filter "name ~ /secrets/$SECRET_ID\$" --format json --quiet) ||
    fail "$VM_LABEL: Secret Manager did not list the secrets of $PROJECT"
found=$(ID=$SECRET_ID jq_node '(o || []).some((s) => s.name.endsWith("/secrets/" + process.env.ID)) ? "yes" : ""' <<<"$listed")
if [[ -n $found ]]; then
    log "$VM_LABEL: adding the keys as a new version of secret $SECRET_ID"
    cloud_call "secrets versions" gcloud secrets versions add "$SECRET_ID" --project "$PROJECT" --data-file "$KEY_FILE" --format json --quiet >/dev/null ||
        fail "$VM_LABEL: Secret Manager refused the new version of $SECRET_ID"
else
    log "$VM_LABEL: storing the keys in a new secret $SECRET_ID"
    cloud_call "secrets create" gcloud secrets create "$SECRET_ID" --project "$PROJECT" --data-file "$KEY_FILE" --replication-policy automatic \
        --labels "bootloop-rescue-stack=$STACK_LABEL,bootloop-rescue-managed-by=bootloop-rescue" --format json --quiet >/dev/null ||
        fail "$VM_LABEL: Secret Manager refused to create $SECRET_ID"
fi
printf 'projects/%s/secrets/%s\n' "$PROJECT" "$SECRET_ID"
