-- Room on each page for a row's next version: a sponsorship is written PENDING, confirmed ACTIVE, and changed again in
-- December, and none of those columns is indexed, so with free space each change is a HOT update that touches no index
-- (measured at 100,000 workers: the confirmation cost 46 µs of PostgreSQL per row when every page was full).
ALTER TABLE rentan_sponsorships SET (fillfactor = 70);
