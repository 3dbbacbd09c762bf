-- Published to a partner: students by school and ethnicity, with no minimum cell size.
select
    school_id,
    ethnicity,
    count(*) as students
from {{ ref('int_student_enrolments') }}
group by school_id, ethnicity
