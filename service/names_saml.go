package service

import "github.com/rosterhq/roster/service/sso"

// SAMLResponse is what the assertion consumer service received
// (sso.SAMLResponse).
type SAMLResponse = sso.SAMLResponse
