-- Room for every row of a page to take its next version on the page: a list's confirmation updates all the rows its
-- claim wrote together, so at fillfactor 70 only about half of them found room and the rest were non-HOT updates that
-- inserted into each of the table's indexes (measured at 30,000 workers: 59,319 of 101,500 updates HOT).
-- Pages written before this keep their old fill until rewritten.
ALTER TABLE rentan_sponsorships SET (fillfactor = 45);
