"""The transform's staging outside the Dagster process (Dagster Pipes): :mod:`.staging` is what runs in
AWS Lambda or an AWS Glue job, :mod:`.lambda_handler` the Lambda entry point. No Dagster imports."""
