from odoo import api, models
from odoo.tools import convert_file

from .. import compat


class CgsmsSeries(models.AbstractModel):
    _name = "cgsms.series"
    _description = "Data of the running Odoo series"

    @api.model
    def _load_series_data(self, module, filename):
        """Load ``filename`` with ``{major}`` replaced by the running series (18, 19): the
        records that 18.0 and 19.0 spell differently (group privileges, ``groups_id`` /
        ``group_ids``), called from a ``<function>`` of the module's data."""
        convert_file(
            self.env,
            module,
            filename.format(major=compat.SERIES),
            {},
            mode="update",
            noupdate=False,
        )
        return True
