-- Senior students by region (cells of 6 or more).
select
    region,
    count(distinct nsn) as students
from {{ ref('int_student_enrolments') }}
group by region
having count(distinct nsn) >= 6
