# Each tenancy's last charge from an index alone (post_charges, every day); the
# tenancy's own index is then redundant: the composite indexes start with it. On SQLite
# the first operation copies the ledger table once (seconds per million entries).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0002_collection_costs_kind'),
        ('portfolio', '0005_sms_opt_out'),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgerentry',
            name='tenancy',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger', to='portfolio.tenancy', verbose_name='huurovereenkomst / tenancy'),
        ),
        migrations.AddIndex(
            model_name='ledgerentry',
            index=models.Index(fields=['tenancy', 'kind', 'due_on'], name='ledger_tenancy_kind_due_idx'),
        ),
    ]
