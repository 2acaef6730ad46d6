"""URL paths of the finlex API, kept apart so that probes and infra tests can
read them without importing Flask."""

VERSION_PATH = "/version"
# The load balancer's and the container's health checks call this route.
HEALTH_PATH = "/healthz"
# Response header that names the git revision the running build was made from
# (settings.Settings.revision); `finlex-release verify --expected-revision` reads it.
REVISION_HEADER = "X-Finlex-Revision"
