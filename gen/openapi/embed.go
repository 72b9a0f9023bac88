// Package openapi holds the OpenAPI document that `make generate` writes
// from the protos, for the gateway to serve. Only this file is hand-written.
package openapi

import _ "embed"

// Document is the OpenAPI (Swagger 2.0) description of the REST API.
//
//go:embed nemo.swagger.json
var Document []byte
