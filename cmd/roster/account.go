package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// cmdAccountPlan sets an account's plan, as the platform operator.
func cmdAccountPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var committed, standard bool
	var usd, months int
	fs := flag.NewFlagSet("account plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.BoolVar(&committed, "committed", false, "committed monthly spend plan (needs --monthly-usd and --months)")
	fs.BoolVar(&standard, "standard", false, "standard (pay as you go) plan")
	fs.IntVar(&usd, "monthly-usd", 0, "monthly commitment in USD (at least 750)")
	fs.IntVar(&months, "months", 0, "contract length in months (at least 12)")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return usageError{"account plan: give the ACCOUNT_ID first, e.g. roster account plan MAODM1ZGY2NDYXNJE4 --standard"}
	}
	id := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if committed == standard {
		return usageError{"account plan: give exactly one of --committed or --standard"}
	}
	plan := roster.PlanStandard
	if committed {
		plan = roster.PlanCommitted
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := service.New(db, nil, nil, service.DefaultConfig(), newLogger("text", stderr))
	a, err := svc.SetPlan(ctx, id, plan, usd, months, roster.Actor{Email: "operator (cli)", IP: "cli"})
	if err != nil {
		return fmt.Errorf("%s", roster.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "%s (%s) is now on the %s plan", a.ID, a.Name, a.Plan)
	if a.Plan == roster.PlanCommitted {
		fmt.Fprintf(stdout, ": %d USD a month for %d months", a.MonthlyCommitmentUSD, a.ContractMonths)
	}
	fmt.Fprintln(stdout)
	return nil
}
