/* Placeholder: this part of the schema is written with its module. */
const char store_poi_schema[] = "";
