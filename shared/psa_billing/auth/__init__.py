"""Who is calling: token verification, the Cognito sign-in adapter, roles."""
