CREATE SEQUENCE billing.invoice_number_seq AS integer START WITH 1000 INCREMENT BY 1 CACHE 1;
ALTER SEQUENCE billing.invoice_number_seq INCREMENT BY 5 MAXVALUE 999999 CYCLE;
ALTER SEQUENCE billing.invoice_number_seq OWNED BY billing.invoices.number;
