//go:build race

package main

// raceEnabled: the race detector slows wazero's compiler about tenfold, so
// tests that compile every Go-built example run in make test's race-free pass.
const raceEnabled = true
