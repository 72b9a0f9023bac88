package service

// Version is the release of the bridge, stamped at build time by the
// Makefile (-ldflags "-X .../service.Version=..."); "dev" otherwise.
var Version = "dev"
