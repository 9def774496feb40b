// Package console is the supervisor's read-only web console: overview,
// jobs with their whole trail re-verified on this node, records with their
// compliance proof and light-client trace, members with their credit and
// voting power charts, and the policy with its revisions and approvals.
//
// It reads the ledger through CometBFT's RPC (ABCI queries, blocks,
// validators) and the node's API (off-chain blobs); nothing it serves writes
// to the ledger. Pages are html/template with embedded assets and inline,
// server-rendered SVG charts: no script, no external fetch. On loopback it
// is open; bound anywhere else every request needs the token kept in
// HOME/console.token (0600), as a bearer header or through the login form's
// HttpOnly cookie.
package console
