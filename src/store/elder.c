/* Placeholder: this part of the schema is written with its module. */
const char store_elder_schema[] = "";
