"""The AWS + Kubernetes target (boto3 and the kubernetes client), behind safety interlocks.

``drdrill.targets.aws.target.AwsTarget`` is the target; ``profile`` its configuration
(imported by ``drdrill.config``, so this package imports nothing eagerly).
"""
