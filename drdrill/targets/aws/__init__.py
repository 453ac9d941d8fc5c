"""The AWS + Kubernetes target (boto3 and the kubernetes client)."""
