-- Contact list for the Waikato winter energy payment letter.
select *
from cms.clients
where region = 'Waikato'
