package service

import "github.com/rosterhq/roster/service/sso"

// SSOLoginOptions is sso.LoginOptions: what the login page may offer an
// address before its password.
type SSOLoginOptions = sso.LoginOptions
