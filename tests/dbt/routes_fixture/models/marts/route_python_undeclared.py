def model(dbt, session):
    dbt.config(materialized="table")
    return dbt.ref("msd_clients").project("region, full_name")
