package zk

// CeremonyTranscript summarises a finished ceremony.
type CeremonyTranscript struct{}
