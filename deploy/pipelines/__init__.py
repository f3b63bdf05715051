"""One deployment pipeline per layer (GitHub Actions): the layers' table, the OIDC trust policies, the
preview report a pull request gets. docs/deploying.md, "A pipeline per layer", walks a new team through it."""
