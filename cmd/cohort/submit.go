package main

import (
	"context"
	"fmt"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/ledger/ledgerpb"
	"github.com/cohortnet/cohort/node"
	"github.com/cohortnet/cohort/node/client"
)

// submit signs a message with the account key of the node at home, submits
// it through the node and waits until it is committed. It returns the tx ID.
func submit(ctx context.Context, home string, setMsg func(*ledgerpb.TxPayload)) ([]byte, *client.TxResult, error) {
	return submitBuilt(ctx, home, func(p *ledgerpb.TxPayload) error { setMsg(p); return nil })
}

// submitBuilt is submit for a message that depends on the tx's ID, chain and
// signer (a channel record's proof is bound to them) and may fail to build.
func submitBuilt(ctx context.Context, home string, build func(*ledgerpb.TxPayload) error) ([]byte, *client.TxResult, error) {
	cfg, err := node.LoadConfig(home)
	if err != nil {
		return nil, nil, err
	}
	key, err := node.LoadAccountKey(home)
	if err != nil {
		return nil, nil, err
	}
	c := client.New(cfg.API.Listen)
	st, err := c.Status(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("node not reachable: %w", err)
	}
	id, err := ledger.NewTxID()
	if err != nil {
		return nil, nil, err
	}
	p := &ledgerpb.TxPayload{ChainId: st.ChainID, TxId: id, Signer: cfg.Moniker}
	if err := build(p); err != nil {
		return nil, nil, err
	}
	tx, err := ledger.SignTx(key, p)
	if err != nil {
		return nil, nil, err
	}
	res, err := c.Submit(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	return id, res, nil
}
