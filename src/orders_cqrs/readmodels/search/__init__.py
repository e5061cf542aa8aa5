"""The OpenSearch support index: template, projection, search reader and its generations."""
