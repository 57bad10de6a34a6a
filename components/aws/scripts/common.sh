# AWS helpers, after core's base.sh.

# aws_json ARGS...: one AWS CLI call in $AWS_REGION, JSON on stdout, throttling retried.
aws_json() {
    with_retries 'Throttling|RequestLimitExceeded|TooManyRequests|Rate exceeded|SlowDown|ServiceUnavailable|InternalError|RequestTimeout' "aws $1 $2" \
        aws --region "$AWS_REGION" --output json "$@"
}

# For a VM in another account: act as the configured role there (credentials stay in this process).
if [[ -n ${ASSUME_ROLE_ARN:-} ]]; then
    expect ASSUME_ROLE_ARN '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]{1,512}$'
    credentials=$(aws_json sts assume-role --role-arn "$ASSUME_ROLE_ARN" --role-session-name bootloop-rescue) || fail "cannot assume $ASSUME_ROLE_ARN"
    AWS_ACCESS_KEY_ID=$(jq_node 'o.Credentials.AccessKeyId' <<<"$credentials")
    AWS_SECRET_ACCESS_KEY=$(jq_node 'o.Credentials.SecretAccessKey' <<<"$credentials")
    AWS_SESSION_TOKEN=$(jq_node 'o.Credentials.SessionToken' <<<"$credentials")
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
    unset credentials AWS_PROFILE
fi
