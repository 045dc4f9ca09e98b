package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/rosterhq/roster/client"
)

// A platform service (say, the one that sends SMS) asks Roster whether the
// user behind a request may do what it asks, before doing it.
func ExampleClient_Check() {
	roster, err := client.New(os.Getenv("ROSTER_URL"), client.WithServiceToken(os.Getenv("ROSTER_SERVICE_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	d, err := roster.Check(ctx, client.CheckRequest{
		AccountID:  "MAZDQ4YTHINK5MTQ2ODI", // the account the request is for
		UserID:     42,                     // the user asking (or APIKey: the rk_... key they presented)
		Permission: client.PermNumbersEdit,
	})
	var e *client.Error
	switch {
	case errors.As(err, &e) && e.Code == client.CodeUnavailable:
		// The server's index is behind: fail closed, retry after e.RetryAfter.
		fmt.Println("try again in", e.RetryAfter)
	case err != nil:
		log.Fatal(err) // a bad request (400) or a wrong service token (401): a bug
	case !d.Allowed:
		// not_member, suspended, missing_permission or mfa_required:
		// answer the user 403 (or 404 for not_member).
		fmt.Printf("refused: %s (role %q)\n", d.Reason, d.Role)
	default:
		fmt.Println("allowed as", d.Role)
	}
}
