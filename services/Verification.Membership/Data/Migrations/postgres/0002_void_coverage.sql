-- A loan cancelled on or before the first day of the coverage it brought voids that coverage: it ends the day before
-- it began, so no query of the form start_date <= day <= end_date ever finds it in force. Allow exactly that one day.
DO $$
DECLARE
    existing text;
BEGIN
    SELECT conname INTO existing
    FROM pg_constraint
    WHERE conrelid = 'coverages'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%end_date >= start_date)%';
    IF existing IS NOT NULL THEN
        EXECUTE format('ALTER TABLE coverages DROP CONSTRAINT %I', existing);
    END IF;
END
$$;

ALTER TABLE coverages ADD CONSTRAINT coverages_end_not_before_void CHECK (end_date IS NULL OR end_date >= start_date - 1);
