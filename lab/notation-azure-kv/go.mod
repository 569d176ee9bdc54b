module acr-gate.local/lab/notationkv

go 1.22
