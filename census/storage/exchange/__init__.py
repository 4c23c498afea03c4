"""Moving records between levels, the SQL side: peers and keys, the transfer log, what goes out
(bodies), merge, assignments, receipts, the review queue, decisions and close-out. The sealing
of files is `census.transfer`; these modules only read and write the database."""
