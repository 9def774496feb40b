package node

import (
	"context"
	"slices"
	"sync"

	"github.com/cohortnet/cohort/ledger"
	"github.com/cohortnet/cohort/node/blob"
)

// startReplicator keeps a copy of the sealed off-chain part of every channel
// record anchored on the ledger whose channel this node belongs to, so that
// the record survives its anchoring node. It follows the committed blocks;
// each copy is fetched from the anchoring member and checked against the
// anchored hash on arrival (blob.Fetch).
func (n *Node) startReplicator(ctx context.Context) error {
	blocks, err := n.SubscribeBlocks(ctx, "replicator", 1000)
	if err != nil {
		return err
	}
	log := n.log.With("module", "replicate")
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		var fetches sync.WaitGroup
		defer fetches.Wait()
		var mu sync.Mutex
		inFlight := map[blob.Hash]bool{}
		for {
			select {
			case <-ctx.Done():
				return
			case b, ok := <-blocks:
				if !ok {
					return
				}
				pol := n.app.Policy()
				if pol == nil {
					continue
				}
				for _, raw := range b.Txs {
					p, err := ledger.DecodePayload(raw, n.app.ChainID())
					if err != nil {
						continue
					}
					rec := p.GetRecordAnchor()
					if rec == nil || rec.Channel == "" || p.Signer == n.cfg.Moniker {
						continue
					}
					ch, ok := pol.Channel(rec.Channel)
					if !ok || !slices.Contains(ch.Members, n.cfg.Moniker) {
						continue
					}
					h, err := blob.ParseHash(rec.Hash)
					if err != nil || n.blobs.Has(h) {
						continue
					}
					mu.Lock()
					if inFlight[h] {
						mu.Unlock()
						continue
					}
					inFlight[h] = true
					mu.Unlock()
					holder := p.Signer
					fetches.Add(1)
					go func() {
						defer fetches.Done()
						if _, err := n.fetchBlob(ctx, holder, h); err != nil && ctx.Err() == nil {
							log.Warn("replicate record", "from", holder, "hash", h, "err", err)
						}
						mu.Lock()
						delete(inFlight, h)
						mu.Unlock()
					}()
				}
			}
		}
	}()
	return nil
}
