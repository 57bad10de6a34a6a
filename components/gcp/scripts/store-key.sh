# Store key (npm run import-keys): puts a VM's BitLocker recovery passwords into a Secret Manager
# secret of its own, in the VM's project: a new secret, or a new version of the one an earlier
# import made. The keys are read from KEY_FILE (root-only, the importer's), never passed as an
# argument; prints the secret's name, which the rescue service account will be allowed to read.
# LABELS: the new secret's labels as key=value,… (the stack's own and the user's).
need PROJECT SECRET_ID KEY_FILE VM_LABEL LABELS
expect PROJECT "$PATTERN_PROJECT"
expect SECRET_ID '^bootloop-rescue-[a-z0-9_-]{1,200}$'
expect KEY_FILE '^/[A-Za-z0-9/_.-]+$' 4000
expect LABELS '^[a-z][a-z0-9_-]*=[a-z0-9_-]*(,[a-z][a-z0-9_-]*=[a-z0-9_-]*)*$' 8000
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
        --labels "$LABELS" --format json --quiet >/dev/null ||
        fail "$VM_LABEL: Secret Manager refused to create $SECRET_ID"
fi
printf 'projects/%s/secrets/%s\n' "$PROJECT" "$SECRET_ID"
