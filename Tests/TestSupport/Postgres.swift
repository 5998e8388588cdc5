// The tests' PostgreSQL servers are the benchmark's: throwaway ones (`ThrowawayPostgres`).
@_exported import ThrowawayPostgres
